"""The domain's two refusals: input that breaks a rule, and an action the state forbids."""

from __future__ import annotations


class RuleViolation(Exception):
    """Input that breaks a domain rule; `field` names what to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class IllegalTransition(Exception):
    """The action is not allowed in the whistle's current state."""

    def __init__(self, action: str, state: str) -> None:
        super().__init__(f"cannot {action}: the whistle is {state}")
        self.action = action
        self.state = state
