"""The REST gateway of SkillBridge: HTTP/JSON + SSE in front of the JobScheduler, and the web page."""
