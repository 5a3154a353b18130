"""The application layer of the notifications service: `deciding` turns an event's decision
into inbox rows and deliveries in the consumer's transaction; `sending` works the deliveries
off; `inbox`, `following` and `preferring` serve the HTTP API."""
