"""A real Ray cluster on this machine, for tests and benchmarks: a head without CPUs (it
schedules, runs nothing) and worker nodes, every one its own raylet and worker
processes (Ray's own ``cluster_utils``)."""

from __future__ import annotations

import os
from typing import Any

from tests.helpers.servers import free_port


class LocalCluster:
    """A head without CPUs (it schedules, runs nothing) and worker nodes of ``cpus`` CPUs each."""

    def __init__(self, workers: int = 2, cpus: int = 1) -> None:
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        os.environ["RAY_CLIENT_RECONNECT_GRACE_PERIOD"] = "5"  # a lost head is given up on in 5 s, not 30
        from ray.cluster_utils import Cluster

        self.port = free_port()
        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 0, "include_dashboard": False, "ray_client_server_port": self.port},
        )
        self.nodes = [self.cluster.add_node(num_cpus=cpus) for _ in range(workers)]
        self.cluster.wait_for_nodes()

    @property
    def address(self) -> str:
        return f"ray://127.0.0.1:{self.port}"

    def kill(self, node: Any) -> None:
        self.cluster.remove_node(node, allow_graceful=False)  # its raylet and workers, SIGKILLed
        self.nodes.remove(node)

    def add(self) -> None:
        self.nodes.append(self.cluster.add_node(num_cpus=1))
        self.cluster.wait_for_nodes()

    def shutdown(self) -> None:
        self.cluster.shutdown()
