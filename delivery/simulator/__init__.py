"""A GitHub simulator: a real HTTP server speaking the parts of GitHub's REST API and OAuth Trunkline uses.

    from delivery.simulator.generate import generate_world
    from delivery.simulator.server import SimulatorServer

    world = generate_world(seed=42)
    server = SimulatorServer(world).start()   # server.url, server.api_url
    ...
    server.stop()

Webhooks: hooks created through the API (or ``SimulatorServer(world, webhook_url=..., webhook_secret=...)``)
receive GitHub's signed deliveries from a background thread; ``server.webhooks.flush()`` waits for them.

No Django imports here (only the management command uses Django).
"""
