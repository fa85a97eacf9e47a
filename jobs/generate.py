"""spark-submit entry point: see `./spark-submit.sh generate --help`."""

from lakecart.jobs.generate import main

if __name__ == "__main__":
    main()
