"""HTML export template: JupyterLab look plus the mcops summary mimetype."""
