// Test stand-in for Calamares 3.2.61's io.calamares.core Global singleton
// (GlobalStorage); the page does not use it, but imports the module.
pragma Singleton
import QtQuick 2.15

QtObject {
    function value(key) { return undefined; }
    function contains(key) { return false; }
}
