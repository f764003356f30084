"""Locust users of the Open311 bench (`bench.open311_bench` runs it headless): each posts service requests in a
loop, every one with its own Idempotency-Key, as a partner's app would. Not imported by the bench itself: Locust
patches the standard library with gevent when imported."""

from __future__ import annotations

import os
import random
import uuid

from locust import FastHttpUser, constant, task

KEY = os.environ["OPEN311_BENCH_KEY"]
CATEGORIES = ("water_pollution", "air_pollution", "odor", "construction_dust", "catering_fumes", "solid_waste")


class Reporter(FastHttpUser):
    wait_time = constant(0)

    @task
    def post_request(self) -> None:
        form = {"api_key": KEY, "service_code": random.choice(CATEGORIES),
                "lat": f"{27.99 + random.uniform(-0.02, 0.02):.5f}", "long": f"{120.70 + random.uniform(-0.03, 0.03):.5f}",
                "datum": "GCJ-02", "description": "压测 load test", "first_name": "三", "last_name": "张",
                "phone": "13800000000"}
        with self.client.post("/open311/v2/requests.json", data=form, headers={"Idempotency-Key": str(uuid.uuid4())},
                              name="POST requests.json", catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code}: {response.text[:200]}")
