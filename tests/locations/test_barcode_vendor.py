"""The camera's BarcodeDetector polyfill is vendored whole: the version the scan station loads,
its WebAssembly the one the polyfill was built for, and the licences beside them."""

import hashlib
import re
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

VERSION = "3.2.4"
FOLDER = f"vendor/barcode-detector-{VERSION}"


class VendoredPolyfillTests:
    def test_the_scan_station_loads_the_vendored_version_and_its_wasm(self):
        template = (settings.BASE_DIR / "templates/locations/scan_station.html").read_text()

        assert f"{FOLDER}/polyfill.js" in template
        assert f"{FOLDER}/zxing_reader.wasm" in template

    def test_the_wasm_is_the_one_the_polyfill_expects(self):
        polyfill = finders.find(f"{FOLDER}/polyfill.js")
        wasm = finders.find(f"{FOLDER}/zxing_reader.wasm")
        source = Path(polyfill).read_text(encoding="utf-8")
        digest = hashlib.sha256(Path(wasm).read_bytes()).hexdigest()

        expected = re.findall(r"[a-z]{1,3}=`([0-9a-f]{64})`", source)
        assert expected == [digest]

    def test_the_licences_and_the_readme_are_beside_the_files(self):
        for name in ("LICENSE", "LICENSE.zxing-wasm", "LICENSE.zxing-cpp", "README.md"):
            assert finders.find(f"{FOLDER}/{name}"), name
        readme = Path(finders.find(f"{FOLDER}/README.md")).read_text(encoding="utf-8")
        assert f"barcode-detector@{VERSION}" in readme
        licence = Path(finders.find(f"{FOLDER}/LICENSE")).read_text(encoding="utf-8")
        assert "MIT License" in licence
