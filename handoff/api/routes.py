"""Every route of the service, by name."""

from __future__ import annotations

from aiohttp import web

from handoff.api.views import (
    agents,
    api_document,
    attachments,
    auth,
    canned_responses,
    customers,
    dead_letters,
    handoffs,
    health,
    live,
    metrics,
    pages,
    prometheus,
    rasa,
    ratings,
)


def setup_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/", pages.index, name="index")
    router.add_get("/chat", pages.chat, name="chat")
    router.add_get("/console", pages.console, name="console")
    router.add_static("/static/", pages.STATIC_DIR, name="static")

    router.add_get("/api/health", health.database, name="health")
    router.add_get("/health/live", health.live, name="health_live")
    router.add_get("/health/ready", health.ready, name="health_ready")
    router.add_get("/metrics", prometheus.metrics, name="prometheus_metrics")
    router.add_get("/api/public-config", pages.public_config, name="public_config")
    router.add_post("/api/chat/sessions", pages.new_chat_session, name="chat_sessions")
    router.add_post(
        "/api/chat/attachments", attachments.upload_from_chat, name="chat_attachments"
    )
    router.add_get(r"/files/{id}", attachments.customer_file, name="customer_file")

    router.add_post("/api/rasa/handoffs", rasa.request_handoff, name="rasa_handoffs")
    router.add_post("/api/rasa/events", rasa.ingest_events, name="rasa_events")
    router.add_post("/api/rasa/refusals", rasa.count_refusal, name="rasa_refusals")
    router.add_post(
        "/api/rasa/deliveries", rasa.report_delivery, name="rasa_deliveries"
    )
    router.add_post(
        "/api/rasa/attachments", attachments.upload_from_bot, name="rasa_attachments"
    )

    router.add_get("/api/openapi.yaml", api_document.yaml_document, name="openapi")
    router.add_get("/api/openapi.json", api_document.json_document, name="openapi_json")

    router.add_post("/api/auth/login", auth.login, name="login")
    router.add_post("/api/auth/logout", auth.logout, name="logout")
    router.add_get("/api/agents/me", agents.me, name="agent_me")
    router.add_patch(
        "/api/agents/me", agents.change_my_settings, name="agent_me_settings"
    )
    router.add_put("/api/agents/me/status", agents.set_my_status, name="agent_status")
    router.add_get("/api/agents", agents.list_agents, name="agents")
    router.add_post("/api/agents", agents.create_agent, name="agent_create")
    router.add_patch(r"/api/agents/{id:\d+}", agents.update_agent, name="agent")
    router.add_get(
        "/api/canned-responses", canned_responses.list_canned, name="canned_responses"
    )
    router.add_post(
        "/api/canned-responses",
        canned_responses.create_canned,
        name="canned_response_create",
    )
    router.add_patch(
        r"/api/canned-responses/{id:\d+}",
        canned_responses.update_canned,
        name="canned_response",
    )
    router.add_delete(
        r"/api/canned-responses/{id:\d+}",
        canned_responses.delete_canned,
        name="canned_response_delete",
    )
    router.add_get("/api/handoffs", handoffs.list_handoffs, name="handoffs")
    router.add_get(r"/api/handoffs/{id:\d+}", handoffs.get_handoff, name="handoff")
    router.add_post(
        r"/api/handoffs/{id:\d+}/claim", handoffs.claim, name="handoff_claim"
    )
    router.add_post(
        r"/api/handoffs/{id:\d+}/messages",
        handoffs.post_message,
        name="handoff_messages",
    )
    router.add_post(
        r"/api/handoffs/{id:\d+}/close", handoffs.close, name="handoff_close"
    )
    router.add_post(
        r"/api/handoffs/{id:\d+}/attachments",
        attachments.upload_from_agent,
        name="handoff_attachments",
    )
    router.add_get("/api/attachments/{id}", attachments.staff_file, name="attachment")
    router.add_get(
        r"/api/handoffs/{id:\d+}/transcript",
        handoffs.transcript,
        name="handoff_transcript",
    )
    router.add_post(
        r"/api/handoffs/{id:\d+}/notes", handoffs.add_note, name="handoff_notes"
    )
    router.add_post(
        r"/api/handoffs/{id:\d+}/transfer",
        handoffs.transfer,
        name="handoff_transfer",
    )
    router.add_get("/api/ws", live.live_feed, name="live_feed")
    router.add_get(
        "/api/customers/{sender_id}/data",
        customers.export_data,
        name="customer_data",
    )
    router.add_delete(
        "/api/customers/{sender_id}/data",
        customers.erase_data,
        name="customer_data_erase",
    )

    router.add_get("/supervisor", metrics.page, name="supervisor")
    router.add_post("/api/rasa/csat", ratings.post_rating, name="rasa_csat")
    router.add_patch(
        r"/api/rasa/csat/{id:\d+}", ratings.patch_rating, name="rasa_csat_rating"
    )
    router.add_get("/api/metrics", metrics.report, name="metrics")
    router.add_get("/api/metrics/live", metrics.live, name="metrics_live")
    router.add_get(
        "/api/dead-letters", dead_letters.list_dead_letters, name="dead_letters"
    )
