"""The descriptor pool of the vendored status-go protos (generate.py says why not the default)."""

from google.protobuf import descriptor_pool

POOL = descriptor_pool.DescriptorPool()
