"""The escalations domain (吹哨报到): whistles, their routing and limits, escalation, ratings."""
