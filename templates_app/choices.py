from django.db import models


class Intent(models.TextChoices):
    PRICING = "pricing", "Pricing"
    DEMO = "demo", "Demo request"
    TECHNICAL = "technical", "Technical question"
    INTEGRATION = "integration", "Integration"
    PARTNERSHIP = "partnership", "Partnership"
    SUPPORT = "support", "Support (existing customer)"
    GENERAL = "general", "General"


class SuggestionStatus(models.TextChoices):
    SUGGESTED = "suggested", "Suggested"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent automatically"
    SEND_FAILED = "send_failed", "Sending failed"
    OPTED_OUT = "opted_out", "Not sent: lead opted out of email"
