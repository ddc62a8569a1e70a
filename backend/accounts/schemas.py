"""Request and response bodies of accounts."""
import marshmallow as ma
from marshmallow import fields, validate

from backend.accounts.models import USER_ROLES
from backend.accounts.policy import LENGTH_RULE, MAX_LENGTH, MIN_LENGTH, password_problems
from backend.i18n import LOCALES
from backend.validation import Translated, validate_name, validate_unicode

PASSWORD_LENGTH = validate.Length(min=MIN_LENGTH, max=MAX_LENGTH, error=Translated(LENGTH_RULE))


class LowerEmail(fields.Email):
    """Emails compare case-insensitively, so they are stored lower-case."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class UserSchema(ma.Schema):
    id = fields.String(dump_only=True)
    email = LowerEmail(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=[PASSWORD_LENGTH, validate_unicode])
    name = fields.String(required=True, validate=[validate.Length(min=1, max=80), validate_name])
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))
    created_at = fields.AwareDateTime(dump_only=True)
    email_verified = fields.Function(lambda user: user.email_verified_at is not None, dump_only=True, metadata={
        "description": "emails about a child go only to a verified address"})
    pending_email = fields.String(dump_only=True, allow_none=True, metadata={
        "description": "a new address waiting for its verification; `email` stays in use until then"})
    two_factor = fields.Function(lambda user: user.totp_enabled_at is not None, dump_only=True, metadata={
        "description": "two-factor sign-in (TOTP) is on"})
    locale = fields.String(validate=validate.OneOf(LOCALES), metadata={
        "description": "the language of this account's emails and pages; at registration, from Accept-Language "
                       "when not given"})

    @ma.validates_schema
    def _password_policy(self, data, **kwargs):
        """Not a common password, not the email (the length: the field's own check)."""
        problems = password_problems(data["password"], data.get("email")) if "password" in data else []
        if problems:
            raise ma.ValidationError(problems, field_name="password")


class SignInSchema(ma.Schema):
    email = LowerEmail(required=True)
    password = fields.String(required=True, load_only=True, validate=validate_unicode)
    otp = fields.String(load_only=True, validate=[validate.Length(max=32), validate_unicode], metadata={
        "description": "with two-factor sign-in on: the 6-digit code of the authenticator app, or a recovery code"})
    device_name = fields.String(load_only=True, validate=[validate.Length(max=120), validate_name], metadata={
        "description": "what this device is called in the list of signed-in devices, e.g. 'Anna\'s phone'"})


class TokenSchema(ma.Schema):
    token = fields.String(required=True, metadata={"description": "Send as 'Authorization: Bearer <token>'"})
    expires_at = fields.AwareDateTime(required=True)


user_schema = UserSchema()
