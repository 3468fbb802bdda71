"""``python -m civicgrid_intake``: run the intake service."""

from civicgrid_shared.serve import serve

from civicgrid_intake.bootstrap import IntakeSettings, bootstrap

if __name__ == "__main__":
    settings = IntakeSettings()
    app, _ = bootstrap(settings)
    serve(app, settings)
