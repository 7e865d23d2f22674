"""A GitHub simulator: a real HTTP server speaking the parts of GitHub's REST and GraphQL APIs and OAuth Trunkline
uses (GraphQL at ``POST /api/graphql``, from GitHub's own schema: :mod:`graphql_api`).

    from delivery.simulator.generate import generate_world
    from delivery.simulator.server import SimulatorServer

    world = generate_world(seed=42)
    server = SimulatorServer(world).start()   # server.url, server.api_url
    ...
    server.stop()

Webhooks: hooks created through the API (or ``SimulatorServer(world, webhook_url=..., webhook_secret=...)``)
receive GitHub's signed deliveries from a background thread; ``server.webhooks.flush()`` waits for them.

Deploying: a dispatched workflow or a deployment created through the API plays out on the world's timers
(:mod:`dispatch`), run by the server's timer thread as time passes; with ``world.frozen_clock`` set, a test moves
the clock and calls ``world.advance()``, or ``world.settle()`` to play everything out. Failures to order:
``/_simulator/switches`` (the deployment fails) and ``/_simulator/faults`` (GitHub answers 5xx/422), see
:mod:`control`.

No Django imports here (only the management command uses Django).
"""
