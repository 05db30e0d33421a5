"""Development only: benchmark sections, the server harnesses they and the tests start, services."""
