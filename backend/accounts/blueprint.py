"""The accounts API's one blueprint; each module of the package adds its routes to it (backend/accounts/routes.py)."""
from backend.blueprints import Blueprint

blp = Blueprint("accounts", __name__, url_prefix="/api/v1", description="Accounts and sign-in")
