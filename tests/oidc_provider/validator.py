"""The provider's claims: preferred_username, email and `scarlog_role`, the names of the
user's groups (a string for one group, a list for several, absent for none)."""
from oauth2_provider.oauth2_validators import OAuth2Validator


class RoleClaimValidator(OAuth2Validator):
    """django-oauth-toolkit's validator with the user's groups as `scarlog_role`."""

    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, "scarlog_role": "profile"}

    def get_additional_claims(self, request):
        user = request.user
        claims = {"preferred_username": user.username, "email": user.email}
        groups = sorted(user.groups.values_list("name", flat=True))
        if groups:
            claims["scarlog_role"] = groups[0] if len(groups) == 1 else groups
        return claims
