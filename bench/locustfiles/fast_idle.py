"""Locust FastHttpUser: one GET, then an hour's wait (idle-memory benchmark)."""

from locust import FastHttpUser, constant, task


class IdleUser(FastHttpUser):
    wait_time = constant(3600)

    @task
    def get(self) -> None:
        self.client.get("/")
