"""ServiceNow over the official ``pysnc`` client: incidents, queue polling, claims, counts and doctor.

``client`` (session, retries, errors), ``queue`` (polling watermark and de-duplication), ``claims`` (Redis
leases), ``doctor`` (permission checks) and ``tickets`` (``ServiceNowTickets``, the connector itself).
"""

from connectors.servicenow.client import DEFAULT_POLICY, SYSTEM
from connectors.servicenow.queue import InMemorySeenTickets, RedisSeenTickets, SeenTickets
from connectors.servicenow.tickets import ServiceNowTickets

__all__ = ["DEFAULT_POLICY", "SYSTEM", "InMemorySeenTickets", "RedisSeenTickets", "SeenTickets", "ServiceNowTickets"]
