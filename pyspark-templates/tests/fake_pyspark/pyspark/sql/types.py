"""Fake pyspark.sql.types: the data types the runtime declares in its result schemas."""


class DataType:
    name = "?"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))

    def __repr__(self):
        return f"{type(self).__name__}()"

    def simpleString(self):
        return self.name


class StringType(DataType):
    name = "string"


class LongType(DataType):
    name = "bigint"


class IntegerType(LongType):
    """A 32-bit int; held like a long here (a frame may hand it over as int32)."""
    name = "int"


class DoubleType(DataType):
    name = "double"


class BooleanType(DataType):
    name = "boolean"


class TimestampType(DataType):
    name = "timestamp"


class NullType(DataType):
    """The type of lit(None); Spark prints it as "void"."""
    name = "void"


class StructField:
    def __init__(self, name, dataType, nullable=True):
        self.name = name
        self.dataType = dataType
        self.nullable = nullable

    def __repr__(self):
        return f"StructField({self.name!r}, {self.dataType!r}, {self.nullable})"


class StructType(DataType):
    name = "struct"

    def __init__(self, fields=None):
        self.fields = list(fields or [])

    @property
    def names(self):
        return [f.name for f in self.fields]

    def __eq__(self, other):
        return isinstance(other, StructType) and [(f.name, f.dataType, f.nullable) for f in self.fields] == \
            [(f.name, f.dataType, f.nullable) for f in other.fields]

    def __hash__(self):
        return hash(tuple(self.names))

    def __iter__(self):
        return iter(self.fields)


_BY_NAME = {"string": StringType, "double": DoubleType, "long": LongType, "bigint": LongType, "int": IntegerType,
            "boolean": BooleanType, "timestamp": TimestampType}


def type_from_name(name):
    if isinstance(name, DataType):
        return name
    try:
        return _BY_NAME[name.lower()]()
    except KeyError:
        raise ValueError(f"fake pyspark: unsupported type {name!r}") from None
