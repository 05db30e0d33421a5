"""The REST API machines (test stations, the MES) and people's scripts use: `api` is mounted at
/api/v1/ by config.urls."""
