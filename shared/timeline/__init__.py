"""The Join button's timeline: when each meeting copy's button appears and is withdrawn, timed by
delayed queue messages and pushed through ``shared.delivery``."""
