//! Image references as docker normalises them: `nginx` → `docker.io/library/nginx:latest`.
