"""IMAP/SMTP mailbox for setups without Microsoft 365: real servers on 127.0.0.1 holding the scenario e-mails.

``MailServers(scenario, user=…, password=…, state_dir=…).start()`` returns ``MailEndpoints`` for any
IMAP client (``imapclient``, ``imaplib``) and SMTP client (``smtplib``); ``stop()`` ends both.
"""

from sandbox.mail.servers import MailEndpoints, MailServerError, MailServers
from sandbox.mail.smtp import Delivery
from sandbox.mail.state import MailStateError

__all__ = ["Delivery", "MailEndpoints", "MailServerError", "MailServers", "MailStateError"]
