"""Proactive offers: ECS offers credit on its own, to the users who would likely want it.

A Temporal Schedule (``schedule``, registered by the worker at start) runs
``ProactiveOffersWorkflow`` every ``ECS_PROACTIVE_INTERVAL_MINUTES``. Each run selects at most
``ECS_PROACTIVE_MAX_PER_RUN`` eligible users (``eligibility``) and starts a credit decision for
each through the very use case the API calls (``ecs.credit.service.request_decision``), so a
proactive offer is scored, priced, paused for distress, notified and accepted like any other.
"""
