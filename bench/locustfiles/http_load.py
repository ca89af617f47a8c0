"""Locust HttpUser: one GET per iteration, no wait (throughput benchmark)."""

from locust import HttpUser, constant, task


class LoadUser(HttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get("/")
