from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from incidents.choices import ApiScope
from incidents.models import ApiToken
from incidents.services.tokens import api_token_create, api_token_revoke


class Command(BaseCommand):
    help = "Create, list or revoke the API tokens of test stations and systems."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Make a token and print it once.")
        create.add_argument("name", help="The station or system that uses it.")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=ApiScope.values,
            help="What it may do; repeat for several.",
        )
        create.add_argument("--expires", type=int, metavar="DAYS", help="Expires in DAYS days.")
        create.add_argument("--language", default="", help="Language of its answers (en, zh-hans).")
        actions.add_parser("list", help="List the tokens (never their secrets).")
        revoke = actions.add_parser("revoke", help="Revoke the token in use with this name.")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, name, scope, expires, language, **options):
        try:
            token, secret = api_token_create(
                name=name, scopes=scope, expires_in_days=expires, language=language
            )
        except ValidationError as error:
            reasons = (m for ms in error.message_dict.values() for m in ms)
            raise CommandError("; ".join(reasons)) from error
        self.stdout.write(secret)
        self.stderr.write(
            f"Token {token.name} ({', '.join(token.scopes)}): shown once, keep it now."
        )

    def _list(self, **options):
        for token in ApiToken.objects.all():
            state = "usable" if token.is_usable() else "expired"
            if token.revoked_at:
                state = "revoked"
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            used = token.last_used_at.isoformat() if token.last_used_at else "never"
            self.stdout.write(
                f"{token.name}\t{token.prefix}…\t{','.join(token.scopes)}\t{state}\t"
                f"expires {expires}\tlast used {used}"
            )

    def _revoke(self, *, name, **options):
        token = ApiToken.objects.filter(name=name, revoked_at__isnull=True).first()
        if token is None or not api_token_revoke(token=token):
            raise CommandError(f"No token in use is named {name}.")
        self.stdout.write(f"Token {name} revoked.")
