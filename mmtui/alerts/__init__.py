"""Alerts: rules, the alert state machine and the durable state store. Textual-free.

Modules
    :mod:`mmtui.alerts.rules`: ``Rule`` (the ``[[rules]]`` config, validated), ``read_rule`` /
    ``read_rules`` for config.py, ``RuleOverride`` / ``apply_overrides`` (run-time edits),
    ``BaselineTracker`` (the learned baseline of relative rules), globs and annotation templates.
    :mod:`mmtui.alerts.state`: ``AlertEngine`` (pure: no I/O, the caller passes ``now``),
    ``Observation`` (its input), ``Alert`` (its output, with ``to_json()`` in the DESIGN.md
    shape), ``Action`` / ``Step`` (notifications to send, grouped by endpoint),
    ``Ack``, ``Silence``, ``Matcher`` / ``parse_matcher``, ``fingerprint``.
    :mod:`mmtui.alerts.store`: ``Store`` (SQLite, WAL, shared by processes), ``StoreError``,
    ``Event``, ``Retention``.
    :mod:`mmtui.alerts.identity`: ``whoami()`` → ``$USER@host`` for acks, notes and silences.

Wiring (the Monitor, in its worker thread; ``now`` is wall-clock time)::

    store = Store(config.monitor.state)                    # None: the XDG state dir
    rules, problems = apply_overrides(config.rules, store.overrides())
    engine = AlertEngine(rules)
    engine.restore(store.alerts(now), now)                 # no repeated notifications
    engine.seed(store.history(now - 3600, resolution=FINE))
    store.note_rules(config.rules, whoami())               # logs rule_change when they differ
    seen = None
    every tick:
        if (v := store.control_version()) != seen:         # acks/silences/overrides, any process
            seen = v
            engine.set_acks(store.acks(now)); engine.set_silences(store.silences(now))
            engine.set_rules(apply_overrides(config.rules, store.overrides())[0])
        observations = [Observation(row.endpoint, row.model, name, value)
                        for row in snapshot.rows for name, value in row.metrics.items()]
        # plus drift_share and drift.<feature> per endpoint, and the quality metrics
        statuses = {row.endpoint: row.status for row in snapshot.rows}
        step = engine.evaluate(now, observations, statuses)
        store.record(engine.alerts(), step.transitions, now=now)
        store.add_history(now, observations)
        for endpoint, actions in step.by_endpoint().items(): channels...(actions)
        store.prune(now) now and then (e.g. every few minutes)

User intent (TUI key, ``mmtui alerts ack ID``) goes to the store (``store.ack(id, whoami(),
note=..., until=...)``), never to the engine: the engine sees it through the change counter,
whichever process made it; ``engine.reconcile(now)`` applies it before the next tick if wanted.
Channels log their results with ``store.log_event("notification", fingerprint=...,
detail={...})``.
"""
