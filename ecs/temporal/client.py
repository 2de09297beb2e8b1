"""One way to build the Temporal client, shared by the API, the worker and the stream consumer."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime

from ecs.settings import Settings
from ecs.temporal.codec import EncryptionCodec, decode_key
from ecs.tracing import temporal_interceptors


def data_converter(settings: Settings) -> DataConverter:
    codec = EncryptionCodec(decode_key(settings.payload_key.get_secret_value()))
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec)


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker passes one serving Prometheus (``ecs.observability``)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        interceptors=temporal_interceptors(),  # tracing, when OTEL_* turns it on
        runtime=runtime,
    )
