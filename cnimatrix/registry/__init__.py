"""Where kind nodes pull images from: registry mirrors (a user's, or the local registry offline
runs start) written as containerd hosts.toml files, and the local registry itself."""
