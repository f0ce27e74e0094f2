"""Fake connector option names (the real values live in the connector's Scala Constants)."""


class Constants:
    SERVER = "fake.synapse.server"
    TEMP_FOLDER = "fake.synapse.tempFolder"
    USER = "fake.synapse.user"
    PASSWORD = "fake.synapse.password"
