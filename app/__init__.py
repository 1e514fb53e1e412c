"""Dashboard (Streamlit), the top layer: imports :mod:`storage` and :mod:`monitors`.

Nothing imports :mod:`app`. Pages (``app/views``) read only through :mod:`app.data`, whose
cached loaders call :mod:`storage` and :mod:`monitors` functions; pages hold no SQL and
import no SQLAlchemy.
"""
