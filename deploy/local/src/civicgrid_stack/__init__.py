"""civicgrid_stack: the embedded, no-Docker stack for local runs and tests.

PostgreSQL (project-local cluster, trust auth on 127.0.0.1: local development only),
the Kafka-protocol broker ``tansu`` (in memory: keeps nothing across restarts) and a
supervisor for the four services. Command line: ``python -m civicgrid_stack --help``.
"""

from civicgrid_stack.broker import TansuBroker
from civicgrid_stack.errors import (
    BinaryNotFoundError,
    PortInUseError,
    ServiceFailedError,
    StackError,
)
from civicgrid_stack.ports import Ports
from civicgrid_stack.postgres import PostgresCluster
from civicgrid_stack.services import SERVICE_MODULES, ServiceProcess
from civicgrid_stack.stack import Stack

__all__ = [
    "SERVICE_MODULES",
    "BinaryNotFoundError",
    "PortInUseError",
    "Ports",
    "PostgresCluster",
    "ServiceFailedError",
    "ServiceProcess",
    "Stack",
    "StackError",
    "TansuBroker",
]
