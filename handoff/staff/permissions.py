"""Who may see and act on what: agents their queue and their own work, supervisors
everything."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_

from handoff.errors import Forbidden
from handoff.queue.states import HandoffStatus
from handoff.realtime.live_feed import EVERYONE, Audience, agents_and_supervisors
from handoff.storage.models import Agent, AgentRole, Handoff

# Shared worklists every agent may look at and take work from.
SHARED_STATES = frozenset({HandoffStatus.QUEUED, HandoffStatus.OFFLINE})


def is_supervisor(agent: Agent) -> bool:
    return agent.role is AgentRole.SUPERVISOR


def require_supervisor(agent: Agent) -> None:
    if not is_supervisor(agent):
        raise Forbidden("only a supervisor may do this")


def can_view(agent: Agent, handoff: Handoff) -> bool:
    return (
        is_supervisor(agent)
        or handoff.status in SHARED_STATES
        or handoff.assigned_agent_id == agent.id
    )


def visible_to(agent: Agent) -> ColumnElement[bool] | None:
    """The listing filter for an agent; None when they may see everything."""
    if is_supervisor(agent):
        return None
    return or_(Handoff.status.in_(SHARED_STATES), Handoff.assigned_agent_id == agent.id)


def ensure_can_view(agent: Agent, handoff: Handoff) -> None:
    if not can_view(agent, handoff):
        raise Forbidden(f"handoff {handoff.id} is another agent's conversation")


def ensure_owner_or_supervisor(agent: Agent, handoff: Handoff) -> None:
    if not is_supervisor(agent) and handoff.assigned_agent_id != agent.id:
        raise Forbidden(f"handoff {handoff.id} is not assigned to you")


def audience_for(handoff: Handoff) -> Audience:
    """Who may receive live frames about a handoff's conversation."""
    return audience_for_status(handoff.status, handoff.assigned_agent_id)


def audience_for_status(
    status: HandoffStatus, assigned_agent_id: int | None
) -> Audience:
    """``audience_for`` from the two columns it depends on."""
    if status in SHARED_STATES:
        return EVERYONE
    return agents_and_supervisors(assigned_agent_id)
