// Test stand-in for Calamares' io.calamares.ui ViewManager singleton
// (the real one is registered by libcalamaresui inside Calamares).
pragma Singleton
import QtQuick 2.15

QtObject {
    function next() { console.log("KODER-TEST ViewManager.next()"); }
    function back() { console.log("KODER-TEST ViewManager.back()"); }
}
