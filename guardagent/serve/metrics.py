"""Prometheus metrics of one service instance (its own registry, so tests can build many)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "guardagent_http_requests_total", "HTTP requests by route template, method and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.request_latency = Histogram(
            "guardagent_http_request_duration_seconds", "HTTP request latency by route template",
            ["method", "route"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        self.decisions = Counter(
            "guardagent_guard_decisions_total", "Guard decisions by source, label and decision",
            ["source", "label", "decision"], registry=self.registry,
        )
        self.screen_latency = Histogram(
            "guardagent_screen_latency_seconds", "Screening latency per item by source",
            ["source"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.verifications = Counter(
            "guardagent_verifications_resolved_total", "Verifications resolved by outcome",
            ["outcome"], registry=self.registry,
        )
        self.runs_in_flight = Gauge(
            "guardagent_runs_in_flight", "Agent runs executing in this process", registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
