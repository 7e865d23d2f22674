"""The pages that read across the watch, rollback and people apps or start a flow: the watch page, the rollback
confirmation and the on-call page, the queues and the team's settings, and GitHub sign-in. The pages of one app
(the board, the repositories, the webhook deliveries) stay in it. See docs/architecture.md."""
