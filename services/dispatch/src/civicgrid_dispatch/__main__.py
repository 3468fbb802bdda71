"""``python -m civicgrid_dispatch``: run the dispatch service."""

from civicgrid_shared.serve import serve

from civicgrid_dispatch.bootstrap import DispatchSettings, bootstrap

if __name__ == "__main__":
    settings = DispatchSettings()
    app, _ = bootstrap(settings)
    serve(app, settings)
