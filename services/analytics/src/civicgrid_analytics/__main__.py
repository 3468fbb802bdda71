"""``python -m civicgrid_analytics``: run the analytics service."""

from civicgrid_shared.serve import serve

from civicgrid_analytics.bootstrap import AnalyticsSettings, bootstrap

if __name__ == "__main__":
    settings = AnalyticsSettings()
    app, _ = bootstrap(settings)
    serve(app, settings)
