"""A phone whose browser has no BarcodeDetector (iOS Safari, Firefox) scans a device's QR label
with the camera: the scan station loads the vendored polyfill, its WebAssembly comes from the
product itself (every request outside it is refused), and the device is in the session.

Chromium's own detector is removed before the page runs, and the camera is a canvas showing the
label's QR code (a fake media stream)."""

import json

import pytest
import segno
from playwright.sync_api import Page, expect

from locations.codes import PREFIXES, CodeKind
from tests.browser.test_admin import log_in

pytestmark = pytest.mark.browser

# Runs before the page's scripts: no native detector, and a camera that films the QR code.
FAKE_CAMERA = """
(() => {
  delete window.BarcodeDetector;
  const qr = %s;
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = 640; canvas.height = 480;
    const context = canvas.getContext("2d");
    const image = new Image();
    image.src = qr;
    await image.decode();
    const draw = () => {
      context.fillStyle = "#fff";
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.drawImage(image, 160, 80, 320, 320);
    };
    draw();
    setInterval(draw, 100);
    return canvas.captureStream(10);
  };
})();
"""


class CameraPolyfillBrowserTests:
    def test_a_browser_without_a_barcode_detector_scans_a_label_with_the_camera(
        self, page: Page, live_server_url: str, tmp_path
    ):
        log_in(page, live_server_url, "xray_1")
        page.goto(f"{live_server_url}/admin/locations/device/")
        serial = page.locator("#result_list th.field-serial_number a").first.inner_text().strip()
        qr = segno.make(PREFIXES[CodeKind.DEVICE] + serial, error="m")
        label = qr.png_data_uri(scale=8, border=4)
        outside, fetched = [], []

        def only_the_product(route):
            if route.request.url.startswith(live_server_url):
                fetched.append(route.request.url)
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_product)
        page.add_init_script(FAKE_CAMERA % json.dumps(label))
        page.goto(f"{live_server_url}/admin/locations/device/scan/")
        assert page.evaluate("'BarcodeDetector' in window") is False
        assert not any("barcode-detector" in url for url in fetched)

        page.get_by_test_id("scan-camera").click()

        expect(page.get_by_test_id("slot-device")).to_have_text(serial, timeout=20_000)
        expect(page.get_by_test_id("scan-banner")).not_to_have_attribute("data-level", "error")
        page.screenshot(path=tmp_path / "scan-camera.png")
        assert any(url.endswith("/barcode-detector-3.2.4/polyfill.js") for url in fetched)
        assert any(url.endswith("/barcode-detector-3.2.4/zxing_reader.wasm") for url in fetched)
        assert outside == []
        # The scan is the server's: the device stays in the session when the page is opened again.
        page.reload()
        expect(page.get_by_test_id("slot-device")).to_have_text(serial)
