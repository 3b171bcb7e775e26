"""Which notifiers hear of an experiment: the composition of project settings, task flags and
server settings that the engine asks for (``engine.ports.NotifierSource``)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from headwater.db.cipher import SecretBox
from headwater.db.database import Database
from headwater.db.repos.settings import SettingsRepo
from headwater.db.repos.users import UserRepo
from headwater.db.repos.webhooks import WebhookRepo
from headwater.domain.entities import Webhook
from headwater.domain.jobs import Experiment, JobState
from headwater.domain.project_settings import ProjectSettings
from headwater.notify.base import Notifier
from headwater.notify.email import EmailNotifier, SmtpSettings
from headwater.notify.slack import SlackNotifier
from headwater.notify.webhooks import WebhookNotifier
from headwater.server.outbound import address_policy
from headwater.settings import ServerSettings

CACHE_SECONDS = 2.0


class ProjectNotifiers:
    def __init__(self, db: Database, box: SecretBox, settings: ServerSettings) -> None:
        self.db = db
        self.box = box
        self.smtp = (
            SmtpSettings(
                host=settings.smtp_host,
                port=settings.smtp_port,
                starttls=settings.smtp_starttls,
                ssl=settings.smtp_ssl,
                username=settings.smtp_username,
                password=settings.smtp_password,
                sender=settings.smtp_sender,
            )
            if settings.smtp_host
            else None
        )
        self.policy = address_policy(settings)  # where webhooks and Slack may be sent
        self._cache: dict[str, tuple[float, ProjectSettings, list[tuple[Webhook, str]]]] = {}

    def _project(self, project_id: str) -> tuple[ProjectSettings, list[tuple[Webhook, str]]]:
        """Settings and webhooks, read at most every ``CACHE_SECONDS`` per project: every
        task start and end asks, and they rarely change."""
        now = time.monotonic()
        cached = self._cache.get(project_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1], cached[2]
        with self.db.read() as session:
            settings = SettingsRepo(session).get(project_id)
            hooks = WebhookRepo(session, self.box).signing(project_id)
        self._cache[project_id] = (now, settings, hooks)
        return settings, hooks

    def __call__(self, experiment: Experiment, kind: str) -> Sequence[Notifier]:
        settings, hooks = self._project(experiment.project_id)
        found: list[Notifier] = [
            WebhookNotifier(hook.url, secret, hook.events, policy=self.policy)
            for hook, secret in hooks
        ]
        if experiment.state not in (JobState.SUCCESS, JobState.FAILED, JobState.ABORTED):
            return found  # people hear of endings; webhooks may subscribe to starts too
        success = experiment.state is JobState.SUCCESS
        flag = experiment.options.get("notify_on_success" if success else "notify_on_error")
        wanted = settings.email_on_success if success else settings.email_on_error
        if flag is not None:
            wanted = bool(flag)
        if wanted and self.smtp is not None:
            recipients = list(experiment.options.get("emails") or [])
            if not recipients:
                with self.db.read() as session:
                    recipients = [UserRepo(session).get(experiment.created_by).email]
            found.append(EmailNotifier(self.smtp, recipients))
        if settings.slack.webhook_url:
            found.append(
                SlackNotifier(
                    settings.slack.webhook_url, settings.slack.channel, policy=self.policy
                )
            )
        return found

    def people(self, project_id: str, kind: str, emails: Sequence[str]) -> Sequence[Notifier]:
        """A flow's event: the project's webhooks, and mail to ``emails`` (approvers)."""
        settings, hooks = self._project(project_id)
        found: list[Notifier] = [
            WebhookNotifier(hook.url, secret, hook.events, policy=self.policy)
            for hook, secret in hooks
        ]
        if emails and self.smtp is not None:
            found.append(EmailNotifier(self.smtp, list(emails)))
        if settings.slack.webhook_url:
            found.append(
                SlackNotifier(
                    settings.slack.webhook_url, settings.slack.channel, policy=self.policy
                )
            )
        return found
