"""What happens after an event, written in one place: each flow calls the apps' services in order (and Slack's
notices after them). Views, tasks and commands call a flow or one service; the apps below never call each other's
services. See docs/architecture.md."""
