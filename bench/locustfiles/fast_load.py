"""Locust FastHttpUser: one GET per iteration, no wait (throughput benchmark)."""

from locust import FastHttpUser, constant, task


class LoadUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self) -> None:
        self.client.get("/")
