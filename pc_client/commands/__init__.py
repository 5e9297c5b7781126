"""The ``pc-client`` commands, one module per group; ``pc_client.cli`` registers them."""
