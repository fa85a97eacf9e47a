"""spark-submit entry point: see `./spark-submit.sh support --help`."""

from lakecart.jobs.support import main

if __name__ == "__main__":
    main()
