"""The server side of the `skillbridge` command: `up` (the supervised local stack), `serve NAME` and
`catalog import FILE`, registered with the client's CLI through the `skillbridge.commands` entry-point group."""
