"""An SMS gateway sink: accepts sends the way typical SMS gateway APIs do and keeps them for inspection.

The sandbox delivers half of a temporary password by SMS; tests and operators read it back from
``GET /sms/v1/messages``. Message text is never logged.
"""

from sandbox.sms.app import build_sms_app
from sandbox.sms.sink import SmsError, SmsMessage, SmsSink

__all__ = ["SmsError", "SmsMessage", "SmsSink", "build_sms_app"]
