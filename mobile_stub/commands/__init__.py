"""The ``mobile-stub`` commands, one module per group; ``mobile_stub.cli`` registers them."""
