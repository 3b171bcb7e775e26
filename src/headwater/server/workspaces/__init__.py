"""Workspaces behind the server's login (issue 15): the proxy to each JupyterLab
(``proxy.py``), saving a workspace's folder as a version (``saving.py``), and starting,
stopping and culling them (``service.py``). The routes are ``server/routes/workspaces.py``."""
