"""``python -m civicgrid_enforcement``: run the enforcement service."""

from civicgrid_shared.serve import serve

from civicgrid_enforcement.bootstrap import EnforcementSettings, bootstrap

if __name__ == "__main__":
    settings = EnforcementSettings()
    app, _ = bootstrap(settings)
    serve(app, settings)
