"""Product images: pixel features, photo classifiers, colours and visual neighbours."""
